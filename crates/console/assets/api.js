// api.js: filled in by the console's views.
