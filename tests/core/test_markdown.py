"""The Markdown sanitiser: nothing executable survives, whatever the input."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.core.markdown import plain_text, render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[点我](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">x</p>',
    "<iframe src=//evil.example></iframe>",
    "<object data=x></object>",
    "[x](vbscript:msgbox(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<<script>script>alert(1)<</script>/script>",
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
]

SAFE_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub",
}  # fmt: skip
SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#")


class _Audit(HTMLParser):
    """Collects what a browser would act on: real elements and attributes, not escaped text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "src", "action", "formaction"):
                self.problems.append(f"attribute {name}")
            href = (value or "").strip().lower()
            if name == "href" and (href.startswith("//") or not href.startswith(SAFE_SCHEMES)):
                self.problems.append(f"href {value}")


def _problems(text: str) -> list[str]:
    audit = _Audit()
    audit.feed(str(render_markdown(text)))
    audit.close()
    return audit.problems


@pytest.mark.parametrize("text", ATTACKS)
def test_known_attacks_are_inert(text):
    assert _problems(text) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(ATTACKS),
            st.sampled_from(["<", ">", "[", "](", ")", "javascript:", "on", "error=", "\n", "`", "*", "第一条"]),
            st.text(max_size=20),
        ),
        max_size=12,
    ).map("".join)
)
def test_nothing_executable_survives_random_input(text):
    assert _problems(text) == []


def test_the_audit_itself_catches_unsafe_html():
    audit = _Audit()
    audit.feed('<p onclick="x"><a href="javascript:alert(1)">x</a><script></script></p>')
    assert len(audit.problems) == 3


def test_ordinary_markdown_still_renders():
    html = str(render_markdown("## 第一条\n\n**加粗**、*强调*\n\n1. 一\n2. 二\n\n> 引用\n\n[链接](https://www.gov.cn)"))
    assert "<h2>第一条</h2>" in html
    assert "<strong>加粗</strong>" in html
    assert "<blockquote>" in html
    assert '<a href="https://www.gov.cn" rel="nofollow noopener noreferrer">链接</a>' in html


def test_plain_text():
    assert plain_text("**粗体** 与 [链接](https://x.cn)") == "粗体 与 链接"
    assert plain_text("很长的文字" * 10, limit=10).endswith("…")
