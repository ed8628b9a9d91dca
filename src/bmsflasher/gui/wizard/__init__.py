"""The guided firmware update (QWizard): one module per page, driven by AppModel signals."""
