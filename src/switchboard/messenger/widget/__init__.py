"""The chat widget's scripts (`widget.js`, `widget-loader.js`) and the snippet sites paste."""
