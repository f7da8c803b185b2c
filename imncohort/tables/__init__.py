"""The seed paper's tables, their confidence intervals, figures and ``report.html``.

``inputs`` reads OUT; ``wilson`` is the interval; ``coverage``, ``intercostal``,
``growth`` (with laterality), ``detection`` and ``characteristics`` are pure
DataFrame functions; ``figures`` draws the PNGs; ``report`` renders the page;
``stage.build_tables`` runs the stage.
"""
