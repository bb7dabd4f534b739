"""The bundle's executable: ``research-hub`` (app, worker, search process and CLI in one).

PyInstaller freezes this script (packaging/research-hub.spec). ``freeze_support`` first:
a multiprocessing child started by spawn would otherwise run the app again.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.launcher import main

    sys.exit(main())
