import sys

from yaan_sim.cli import main

sys.exit(main())
