import sys

from .ownership import main

sys.exit(main())
