"""The embeddable dashboard widget: a small script of Tally's own and a demo page."""
