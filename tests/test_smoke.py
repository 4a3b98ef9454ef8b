def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_home_renders_in_chinese_by_default(client):
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in body
    assert "重大行政决策公众参与平台" in body
