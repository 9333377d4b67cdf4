"""One module per ``surrogate-cell`` command (see ``surrogate_cell.cli``)."""
