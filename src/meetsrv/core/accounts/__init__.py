"""Accounts: users, passwords, credentials and their cache, login limits, social identities
and OAuth sign-in with them, phone codes, email accounts with JWT."""
