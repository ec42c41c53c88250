from tests.admin.conftest import staff_in  # noqa: F401  (the staff groups' users, shared with the admin's tests)
