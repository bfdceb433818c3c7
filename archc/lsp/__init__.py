"""The archc language server (`archc lsp`): diagnostics, hover, completion, navigation, format.

The server speaks the Language Server Protocol over stdio through pygls (the optional `lsp`
extra). Everything it knows comes from the same analysis `archc check` runs, applied to the
editor's unsaved text (:func:`archc.api.analyse_text`); it never imports torch.
"""
