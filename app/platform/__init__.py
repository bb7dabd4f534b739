"""What depends on the desktop the app runs on: handing files to it, and checking
that Qt can open a window there at all."""
