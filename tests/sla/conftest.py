from tests.tickets.fixtures import customer, scoped  # noqa: F401
