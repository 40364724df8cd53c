"""Attendance: evidence evaluated into days (evaluate), attendees joined to clients (identity) and
absence alerts (alerts)."""
