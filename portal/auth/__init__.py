"""Accounts, roles, departments, login and the permission rules every view declares."""
