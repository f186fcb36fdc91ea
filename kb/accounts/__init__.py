"""Administrators — the people who may write.

* :mod:`~kb.accounts.users` — names, Argon2id password hashes, API tokens, sign-in sessions, failed tries.

May import: nothing else of kb. Flask stays in :mod:`kb.web.auth`.
"""
