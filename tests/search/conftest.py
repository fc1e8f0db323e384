from tests.tickets.fixtures import customer, scoped, ticket  # noqa: F401
