"""Notifications: weekly letters, meeting reminders and absence alerts go through one outbox
(outbox) and are sent by each organisation's mailer (sender)."""
