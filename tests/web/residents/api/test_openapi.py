"""The OpenAPI document at /api/v1/openapi.json: every path of the API, its errors and its security."""

from __future__ import annotations

from web.residents.api import OPENAPI_PATH

PUBLIC = {
    ("post", "/api/v1/session"),
    ("get", "/api/v1/categories"),
    ("get", "/api/v1/checkpoints"),
    ("get", "/api/v1/checkpoints/{code}"),
    ("get", "/api/v1/privacy"),
}


def api_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves under /api/v1, bar the staff API and the document."""
    routes = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/staff/") or path == OPENAPI_PATH:
            continue
        routes |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_lists_every_path_of_the_api(app, client):
    response = client.get(OPENAPI_PATH)
    assert response.status_code == 200 and response.is_json
    document = response.get_json()
    assert document["openapi"] == "3.0.3" and document["info"]["title"] == "共治 API"
    documented = {
        (method, path) for path, item in document["paths"].items() for method in item if method != "parameters"
    }
    assert documented == api_routes(app)
    assert {path for _, path in documented} >= {
        "/api/v1/session",
        "/api/v1/categories",
        "/api/v1/checkpoints",
        "/api/v1/checkpoints/{code}",
        "/api/v1/reports",
        "/api/v1/cases",
        "/api/v1/cases/nearby",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/follow",
        "/api/v1/cases/{number}/evaluation",
        "/api/v1/cases/{number}/reopen",
    }


def test_errors_and_the_resident_token_are_documented(client):
    document = client.get(OPENAPI_PATH).get_json()
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = document["components"]["schemas"]["ErrorDetail"]
    # version and scopes: what a 428 consent_required still asks the resident to agree to
    assert set(detail["properties"]) == {"code", "message", "fields", "version", "scopes"}
    assert document["components"]["securitySchemes"]["residentToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "POST /api/v1/session 得到的居民令牌",
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":  # the path's own parameters, such as {number}
                continue
            responses = operation["responses"]
            assert "default" in responses, (method, path)
            if (method, path) in PUBLIC:
                assert "security" not in operation, (method, path)
            else:
                assert operation["security"] == [{"residentToken": []}], (method, path)
                assert "401" in responses, (method, path)
            if "requestBody" in operation or "parameters" in operation:  # validated input: a 400 is possible
                assert "400" in responses, (method, path)
    reports = document["paths"]["/api/v1/reports"]["post"]
    assert set(reports["requestBody"]["content"]) == {"multipart/form-data"}
    assert {"200", "201", "400", "401", "413", "428", "429"} <= set(reports["responses"])
    assert {"404", "410"} <= set(document["paths"]["/api/v1/checkpoints/{code}"]["get"]["responses"])
