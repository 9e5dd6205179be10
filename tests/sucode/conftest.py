"""The 苏信码 tests share the objections tests' world (enterprises, institutions, tokens)."""

from tests.objections.conftest import world  # noqa: F401
