import sys

from chatbot.staff.cli import main

sys.exit(main())
