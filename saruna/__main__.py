"""The ``saruna`` command: Django's management commands with Saruna's settings preset.

``saruna migrate``, ``saruna shell``, ``saruna createsuperuser``, ``saruna serve``,
``saruna createaccount`` ... Commands run in the provider's scope (no account) unless the
command itself opens an account's scope.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    from django_scopes import scope

    with scope(account=None):
        execute_from_command_line(["saruna", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
