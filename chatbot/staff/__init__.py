"""Reports for the clinic's staff: pain diaries and nurse callbacks (the knowledge-gap
report is chatbot.staff.gaps). Files go under var/reports/ unless a path is given: they hold
patient information, and var/ is never committed."""
