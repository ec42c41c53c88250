"""compose.yaml and Procfile.prod start the same processes; compose sets only settings that exist (.env.example)."""

import re
import shlex

import yaml
from django.conf import settings

ROOT = settings.BASE_DIR


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile.prod").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_compose_runs_the_database_redis_web_a_worker_and_one_beat():
    services = compose()["services"]

    assert sorted(services) == ["beat", "db", "migrate", "redis", "web", "worker"]
    assert [name for name, service in services.items() if "beat" in service.get("command", [])] == ["beat"]
    assert "deploy" not in services["beat"]  # never replicated


def test_compose_and_the_procfile_start_the_same_commands():
    services, processes = compose()["services"], procfile()

    for name in ("web", "beat"):
        assert services[name]["command"] == shlex.split(processes[name])
    assert services["worker"]["command"][:6] == shlex.split(processes["worker"])
    assert "migrate --noinput" in processes["release"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_the_web_health_check_asks_readyz_with_an_allowed_host():
    check = compose()["services"]["web"]["healthcheck"]["test"]

    assert check[:3] == ["CMD", "python", "-c"]
    compile(check[3], "healthcheck", "exec")
    assert "http://127.0.0.1:8000/readyz" in check[3]
    assert 'os.environ["ALLOWED_HOSTS"]' in check[3]


def test_the_app_services_wait_for_their_dependencies_and_the_migration():
    services = compose()["services"]

    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_compose_sets_only_documented_settings_and_production_ones():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    web = compose()["services"]["web"]["environment"]

    assert set(web) - documented == set()
    assert web["DEBUG"] == "False"
    assert web["CACHE_URL"].startswith("redis://")
    assert web["CELERY_BROKER_URL"].startswith("redis://")
    assert web["DATABASE_URL"].startswith("postgres://")
    assert web["SECRET_KEY"].startswith("${SECRET_KEY:?")  # no default: compose refuses to start without one


def test_the_image_installs_the_project_and_collects_static_files_with_hashed_names():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install -e ." in dockerfile
    assert "DEBUG=False SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput" in dockerfile
    assert "USER loyalty" in dockerfile
