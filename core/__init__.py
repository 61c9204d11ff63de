"""What every app may use and that uses no app: errors, ids, HTTP types, database helpers."""
