"""Figures of training runs and results: learning curves, image grids, confusion matrices.

Every function returns a matplotlib ``Figure`` drawn with the Agg backend (no window,
no global pyplot state) and writes a PNG when given a ``path``. matplotlib is imported
only when a figure is made: ``pip install 'lapenna[plot]'``.

Example:
    >>> import lapenna as lp
    >>> history = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6]}
    >>> figure = lp.plot.learning_curves(history)
    >>> [axes.get_xlabel() for axes in figure.axes]
    ['epoch']
"""

from lapenna.plot.confusion import confusion_matrix
from lapenna.plot.curves import learning_curves
from lapenna.plot.grid import images
from lapenna.plot.roofline import roofline, time_breakdown

__all__ = ["learning_curves", "images", "confusion_matrix", "roofline", "time_breakdown"]
