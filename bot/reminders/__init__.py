"""Reminders the way a team lives: each person's time zone, hours, snooze, real-time DMs,
escalation and the App Home."""
