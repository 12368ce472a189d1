"""Accounts: users, passwords, credentials and their cache, login limits, social identities,
phone codes, email accounts with JWT."""
