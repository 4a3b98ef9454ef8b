"""Decision catalogue (决策事项目录), draft versions with their articles, stages."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the decisions feature: models now; catalogue pages and API as they are built."""
    from portal.decisions import models  # noqa: F401
