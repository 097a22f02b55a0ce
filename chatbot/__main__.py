"""`python -m chatbot`: the staff command line (chatbot.staff.cli), run by staff and make run."""

import sys

from chatbot.staff.cli import main

sys.exit(main())
