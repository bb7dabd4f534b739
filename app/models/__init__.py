"""Qt item models (and their delegates): they mirror data the services own and
never fetch it themselves."""
