"""Search: hybrid keyword + meaning search over the library.

Import what you need from the modules: ``protocol`` (the request and result
types, standard library only, safe for the GUI process), ``searcher`` (the
ranking, which loads numpy through ``vector_index``) and ``server`` (the
search process the app and the CLI talk to).
"""
