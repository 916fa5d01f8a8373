"""GET /healthz tells a load balancer whether this instance can serve."""
from sqlalchemy import text


def test_healthy_when_database_answers_and_migrations_are_current(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json["migrations"] == "current"


def test_unavailable_when_migrations_are_behind(app, db):
    with db.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        resp = app.test_client().get("/healthz")
        assert resp.status_code == 503 and resp.json["migrations"] == "behind"
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_unavailable_when_database_is_down(tmp_path):
    from tests.conftest import make_test_app
    app = make_test_app("postgresql+psycopg://nobody@127.0.0.1:1/none")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.json["database"] == "error"
