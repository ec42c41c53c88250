from tests.api.conftest import api, api_key, client_for, partner  # noqa: F401  (the partner API's fixtures)
