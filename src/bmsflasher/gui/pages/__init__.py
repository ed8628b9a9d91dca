"""The main window's pages: one module per page, each talking only to the AppModel."""
