import sys

from samcompare.cli import main

sys.exit(main())
