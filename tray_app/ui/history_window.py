"""The History window: balance over time, usage per day, the run-out forecast, a table and CSV export.

Drawn with QPainter on PySide6-Essentials: QtCharts would bring the PySide6-Addons wheel into
every installer, pyqtgraph would bring numpy; a tray widget's chart needs neither (figures in
BENCHMARKS.md). Data is read on a background thread and handed over by a signal, so opening
the window never stalls the tray; a chart draws at most two points per pixel column however
many readings the range holds.

Words follow the interface language (Qt's LanguageChange retranslates the open window in place, keeping
the account, range, tab and table), and so do numbers and dates (the default QLocale, which
``ui.i18n.apply_language`` sets). The CSV export does not: it is for programs, so its times stay ISO 8601,
its numbers plain decimals and its column names English in every language.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QDateTime,
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    Qt,
    QTimeZone,
    Signal,
)
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME, texts, words_history
from tray_app.config import Config
from tray_app.fileio import atomic_write
from tray_app.history import HistoryError, HistoryStore, Series
from tray_app.model import AccountResult, AccountState, TopUp, Usage
from tray_app.usage import MIN_SPAN, WINDOW, analyse, daily_usage, points_of, top_ups

log = logging.getLogger(__name__)

# The ranges, by their English names (``set_range`` takes these); shown translated.
RANGES: tuple[tuple[str, timedelta | None], ...] = (
    (str(QT_TRANSLATE_NOOP("HistoryWindow", "24 h")), timedelta(hours=24)),
    (str(QT_TRANSLATE_NOOP("HistoryWindow", "7 d")), timedelta(days=7)),
    (str(QT_TRANSLATE_NOOP("HistoryWindow", "30 d")), timedelta(days=30)),
    (str(QT_TRANSLATE_NOOP("HistoryWindow", "All")), None))
WARNING = QColor("#d08a00")
TOP_UP = QColor("#2e9d4f")


@dataclass(frozen=True)
class ChartData:
    """Everything one account's charts show, read off the GUI thread."""

    account_id: str
    unit: str
    thresholds: tuple[float, ...]
    start: float  # seconds since the epoch: the left edge
    end: float  # now: the right edge (before any forecast)
    times: tuple[float, ...] = ()  # a step line: each balance from when it was first seen ...
    values: tuple[float, ...] = ()  # ... to when the next one was
    daily: tuple[tuple[date, float], ...] = ()
    top_ups: tuple[TopUp, ...] = ()
    usage: Usage = field(default_factory=lambda: Usage(None, None))
    unlimited: bool = False
    # Every recorded balance (first seen, last seen, amount) for the table, newest last.
    rows: tuple[tuple[float, float, float], ...] = ()
    # Which request this answers: only the latest choice of account and range is shown.
    request: int = 0


def load_chart(store: HistoryStore, account_id: str, span: timedelta | None, thresholds: Sequence[Decimal],
               unit: str, now: datetime | None = None, min_span: timedelta = MIN_SPAN) -> ChartData:
    """Read and shape one account's history for the charts (runs on a background thread)."""
    now = now or datetime.now(UTC)
    since = now - span if span is not None else None
    series = store.series(account_id, since=since)
    unlimited = bool(series.unlimited and series.unlimited[-1])
    column = series.used if unlimited else series.remaining
    rows = tuple((first / 1e6, last / 1e6, value)
                 for first, last, value in zip(series.first_seen_us, series.last_seen_us, column, strict=True)
                 if value is not None)
    times: list[float] = []
    values: list[float] = []
    for first, last, value in rows:
        times.append(first)
        values.append(value)
        if last > first:
            times.append(last)
            values.append(value)
    times, values = thin_out(times, values)
    recent = series if span is not None and span <= WINDOW else _since(series, (now - WINDOW).timestamp())
    remaining = values[-1] if values and not unlimited else None
    usage = analyse(recent, unlimited=unlimited, remaining=remaining, min_span=min_span)
    points = points_of(series, unlimited)
    start = since.timestamp() if since is not None else (times[0] if times else now.timestamp() - 86400)
    local = now.astimezone().tzinfo or UTC
    return ChartData(account_id=account_id, unit=unit, thresholds=tuple(float(t) for t in thresholds if t > 0),
                     start=start, end=now.timestamp(), times=tuple(times), values=tuple(values),
                     daily=tuple(daily_usage(series, unlimited=unlimited, tz=local, points=points)),
                     top_ups=top_ups(series, unlimited=unlimited, points=points), usage=usage, unlimited=unlimited,
                     rows=rows)


def _since(series: Series, seconds: float) -> Series:
    """The rows of ``series`` still seen at or after ``seconds`` (they are in time order)."""
    start = bisect.bisect_left(series.last_seen_us, seconds * 1e6)
    return Series(series.first_seen_us[start:], series.last_seen_us[start:], series.remaining[start:],
                  series.used[start:], series.unlimited[start:])


def thin_out(times: list[float], values: list[float], buckets: int = 800) -> tuple[list[float], list[float]]:
    """At most four points per time bucket (first, lowest, highest, last): what a line a few
    thousand pixels wide can show of tens of thousands of readings, drawn in a few milliseconds."""
    if len(times) <= 4 * buckets:
        return times, values
    start, width = times[0], (times[-1] - times[0]) / buckets or 1.0
    out_t: list[float] = []
    out_v: list[float] = []
    index = 0
    while index < len(times):
        bucket = int((times[index] - start) / width)
        end = index
        while end < len(times) and int((times[end] - start) / width) == bucket:
            end += 1
        chunk = range(index, end)
        low = min(chunk, key=values.__getitem__)
        high = max(chunk, key=values.__getitem__)
        for i in sorted({index, low, high, end - 1}):
            out_t.append(times[i])
            out_v.append(values[i])
        index = end
    return out_t, out_v


def axis_pattern(name: str) -> str:
    """A QLocale date pattern for the time axis, as the language writes short dates."""
    patterns = {
        #: a QLocale date pattern for the chart's axis: weekday and day of month ("Tue 2").
        "weekday": QCoreApplication.translate("HistoryWindow", "ddd d"),
        #: a QLocale date pattern for the chart's axis: day and month ("2 Dec").
        "day": QCoreApplication.translate("HistoryWindow", "d MMM"),
    }
    return patterns.get(name, "HH:mm")


def _nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 10 ** -len(f"{raw:.10f}".split(".")[1].lstrip("0"))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def number(value: float) -> str:
    """An axis label or a table cell: whole from 100 up, else one decimal, in the current default locale."""
    if abs(value) >= 100 or value == int(value):
        return QLocale().toString(round(value))
    return QLocale().toString(value, "f", 1)


def moment(seconds: float, fmt: QLocale.FormatType | str = QLocale.FormatType.ShortFormat) -> str:
    when = QDateTime.fromMSecsSinceEpoch(int(seconds * 1000), QTimeZone.systemTimeZone())
    return str(QLocale().toString(when, fmt))


class _Plot(QWidget):
    """Shared geometry, axes and hover of the two charts."""

    hovered = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setMouseTracking(True)
        self.setMinimumHeight(140)
        self.data: ChartData | None = None
        self.hover_text = ""
        self._hover_x: float | None = None

    def set_data(self, data: ChartData | None) -> None:
        self.data = data
        self.hover_text = ""
        self._hover_x = None
        self.update()

    def plot_rect(self) -> QRectF:
        metrics = self.fontMetrics()
        left = metrics.horizontalAdvance("0,000,000.0") + 8
        return QRectF(left, 8, max(10.0, self.width() - left - 12), max(10.0, self.height() - metrics.height() - 20))

    def leaveEvent(self, event: object) -> None:
        self._hover_x = None
        self.hover_text = ""
        self.hovered.emit("")
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hover_at(event.position().x())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.hover_at(event.position().x())

    def hover_at(self, x: float) -> None:
        self._hover_x = x
        self.hover_text = self.describe(x)
        self.hovered.emit(self.hover_text)
        self.update()

    def describe(self, x: float) -> str:
        raise NotImplementedError

    def paint_frame(self, painter: QPainter, rect: QRectF, low: float, high: float) -> Callable[[float], float]:
        """Background, horizontal gridlines with labels; returns value → y."""
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        span = high - low or 1.0

        def y_of(value: float) -> float:
            return rect.bottom() - (value - low) / span * rect.height()

        step = _nice_step(span)
        grid = QPen(palette.color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DotLine)
        tick = low - low % step
        metrics = self.fontMetrics()
        while tick <= high + step / 2:
            if tick >= low:
                y = y_of(tick)
                painter.setPen(grid)
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                label = number(tick)
                painter.drawText(QPointF(rect.left() - 6 - metrics.horizontalAdvance(label), y + metrics.ascent() / 3),
                                 label)
            tick += step
        return y_of


class BalanceChart(_Plot):
    """Balance over time as a step line, alert levels as dashed lines, top-ups as triangles,
    and the forecast as a dashed line down to zero."""

    def __init__(self) -> None:
        super().__init__()
        self._line: tuple[tuple[int, int, int], QPolygonF] | None = None

    def set_data(self, data: ChartData | None) -> None:
        self._line = None
        super().set_data(data)

    def x_range(self) -> tuple[float, float]:
        assert self.data is not None
        start, end = self.data.start, self.data.end
        runs_out = self.data.usage.runs_out_at
        if runs_out is not None:  # show the way down to zero, within reason
            end = max(end, min(runs_out.timestamp(), end + (end - start)))
        return start, end

    def describe(self, x: float) -> str:
        data = self.data
        if data is None or not data.times:
            return ""
        rect = self.plot_rect()
        start, end = self.x_range()
        per_pixel = (end - start) / rect.width()
        at = start + (x - rect.left()) * per_pixel
        index = bisect.bisect_right(data.times, at) - 1
        if index + 1 < len(data.times) and data.times[index + 1] - at < at - data.times[max(index, 0)]:
            index += 1  # the nearer reading
        if index < 0:
            return ""
        beyond = at > data.times[-1] + 3 * per_pixel
        if beyond and data.usage.runs_out_at is not None and not data.unlimited:
            left = max(0.0, data.values[-1] - (at - data.times[-1]) / 86400 * (data.usage.per_day or 0))
            return self.tr("{when}: about {amount} {unit} at the current pace").format(
                when=moment(at), amount=number(left), unit=texts.unit_name(data.unit))
        when, amount, unit = moment(data.times[index]), number(data.values[index]), texts.unit_name(data.unit)
        if data.unlimited:
            return self.tr("{when}: {amount} {unit} used").format(when=when, amount=amount, unit=unit)
        return self.tr("{when}: {amount} {unit}").format(when=when, amount=amount, unit=unit)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        data = self.data
        rect = self.plot_rect()
        if data is None or not data.times:
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             self.tr("Loading…") if data is None else self.tr("No balances recorded in this range yet"))
            return
        start, end = self.x_range()
        high = max(max(data.values), *(t for t in data.thresholds if t <= 3 * max(data.values) + 1), 1.0)
        low = min(0.0, min(data.values))
        y_of = self.paint_frame(painter, rect, low, high * 1.05)

        def x_of(seconds: float) -> float:
            return rect.left() + (seconds - start) / ((end - start) or 1.0) * rect.width()

        self._paint_time_axis(painter, rect, start, end, x_of)
        metrics = self.fontMetrics()
        drawn: list[float] = []
        for level in sorted(data.thresholds, reverse=True):
            y = y_of(level)
            # Levels too close to one drawn already (or to zero) would merge into one thick band.
            if level > high * 1.05 or abs(y - y_of(0.0)) < 4 or any(abs(y - other) < 4 for other in drawn):
                continue
            drawn.append(y)
            painter.setPen(QPen(WARNING, 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            label = number(level)
            painter.setPen(WARNING)
            painter.drawText(QPointF(rect.right() - metrics.horizontalAdvance(label) - 2, y - 3), label)
        # Built once per data and size: hovering repaints often and must stay cheap.
        key = (id(data), self.width(), self.height())
        if self._line is None or self._line[0] != key:
            line = QPolygonF()
            last_column = None
            previous_value = None
            for seconds, value in zip(data.times, data.values, strict=True):
                x = x_of(max(seconds, start))
                column = int(x)
                if previous_value is not None and value != previous_value:
                    line.append(QPointF(x, y_of(previous_value)))  # a step, not a slope
                if column != last_column or value != previous_value:
                    line.append(QPointF(x, y_of(value)))
                last_column, previous_value = column, value
            line.append(QPointF(x_of(data.times[-1]), y_of(data.values[-1])))
            self._line = (key, line)
        line = self._line[1]
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
        painter.drawPolyline(line)
        runs_out = data.usage.runs_out_at
        if runs_out is not None and not data.unlimited:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x_of(data.times[-1]), y_of(data.values[-1])),
                             QPointF(x_of(runs_out.timestamp()), y_of(0.0)))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(TOP_UP)
        for top_up in data.top_ups:
            x = x_of(top_up.at.timestamp())
            if rect.left() <= x <= rect.right():
                y = rect.bottom() - 2
                painter.drawPolygon(QPolygonF([QPointF(x, y - 8), QPointF(x - 5, y), QPointF(x + 5, y)]))
        if self._hover_x is not None and rect.left() <= self._hover_x <= rect.right():
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Text), 1))
            painter.drawLine(QPointF(self._hover_x, rect.top()), QPointF(self._hover_x, rect.bottom()))

    def _paint_time_axis(self, painter: QPainter, rect: QRectF, start: float, end: float,
                         x_of: Callable[[float], float]) -> None:
        span = end - start
        fmt = axis_pattern("time" if span <= 2 * 86400 else "weekday" if span <= 10 * 86400 else "day")
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        metrics = self.fontMetrics()
        count = max(2, min(7, int(rect.width() // 110)))
        for i in range(count + 1):
            seconds = start + span * i / count
            label = moment(seconds, fmt)
            x = x_of(seconds) - metrics.horizontalAdvance(label) / 2
            x = min(max(x, rect.left() - 4), rect.right() - metrics.horizontalAdvance(label))
            painter.drawText(QPointF(x, rect.bottom() + metrics.height() + 4), label)


class UsageBars(_Plot):
    """Credits used per day, a bar each."""

    def days(self) -> tuple[tuple[date, float], ...]:
        if self.data is None:
            return ()
        first = datetime.fromtimestamp(self.data.start).date()
        return tuple(d for d in self.data.daily if d[0] >= first)

    def describe(self, x: float) -> str:
        days = self.days()
        if not days:
            return ""
        rect = self.plot_rect()
        index = int((x - rect.left()) / (rect.width() / len(days)))
        if not 0 <= index < len(days):
            return ""
        day, amount = days[index]
        label = QLocale().toString(QDate(day.year, day.month, day.day), QLocale.FormatType.LongFormat)
        assert self.data is not None
        return self.tr("{day}: {amount} {unit} used").format(day=label, amount=number(amount),
                                                              unit=texts.unit_name(self.data.unit))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        rect = self.plot_rect()
        days = self.days()
        if not days:
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No usage recorded in this range yet"))
            return
        y_of = self.paint_frame(painter, rect, 0.0, max(a for _, a in days) * 1.1 or 1.0)
        width = rect.width() / len(days)
        painter.setPen(Qt.PenStyle.NoPen)
        colour = palette.color(QPalette.ColorRole.Highlight)
        metrics = self.fontMetrics()
        pattern = axis_pattern("weekday")
        widest = QLocale().toString(QDate(2025, 12, 31), pattern)  # a Wednesday, the 31st: the widest label
        every = max(1, int(metrics.horizontalAdvance(widest) * 1.3 // max(width, 1)) + 1)
        for i, (day, amount) in enumerate(days):
            top = y_of(amount)
            bar = QRectF(rect.left() + i * width + width * 0.15, top, width * 0.7, rect.bottom() - top)
            painter.setBrush(colour.lighter(130) if self._hover_x is not None and bar.left() <= self._hover_x
                             <= bar.right() else colour)
            painter.drawRect(bar)
            if i % every == 0:
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                label = QLocale().toString(QDate(day.year, day.month, day.day), pattern)
                painter.drawText(QPointF(bar.center().x() - metrics.horizontalAdvance(label) / 2,
                                         rect.bottom() + metrics.height() + 4), label)
                painter.setPen(Qt.PenStyle.NoPen)


class BalanceTable(QAbstractTableModel):
    """Every recorded balance, newest first; cells are formatted only when shown (a month of
    one-minute readings is tens of thousands of rows)."""

    HEADERS = (str(QT_TRANSLATE_NOOP("BalanceTable", "From")), str(QT_TRANSLATE_NOOP("BalanceTable", "Until")),
               str(QT_TRANSLATE_NOOP("BalanceTable", "Balance")))

    def __init__(self) -> None:
        super().__init__()
        self._rows: tuple[tuple[float, float, float], ...] = ()
        self._unit = ""

    def set_rows(self, rows: tuple[tuple[float, float, float], ...], unit: str) -> None:
        self.beginResetModel()
        self._rows, self._unit = rows, unit
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
                   ) -> str | None:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.tr(self.HEADERS[section])
        return None

    def retranslate(self) -> None:
        """Headers and cells again in the current language and locale (rows and selection stay)."""
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 2)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 2))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
             ) -> str | Qt.AlignmentFlag | None:
        if not index.isValid():
            return None
        first, last, value = self._rows[len(self._rows) - 1 - index.row()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if index.column() == 0:
            return moment(first)
        if index.column() == 1:
            return moment(last)
        return self.tr("{amount} {unit}").format(amount=number(value), unit=texts.unit_name(self._unit))


def write_csv(store: HistoryStore, account_id: str, since: datetime | None, path: Path) -> int:
    """Every reading of the range, exactly as recorded, written atomically; returns how many."""
    points = store.readings(account_id, since=since)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # For programs: English column names, ISO times and plain decimals in every language.
    writer.writerow(["from", "until", "remaining", "used", "total", "unlimited", "unit"])  # untranslated
    for point in points:
        r = point.reading
        writer.writerow([point.first_seen.isoformat(), point.last_seen.isoformat(),
                         *("" if v is None else str(v) for v in (r.remaining, r.used, r.total)),
                         "true" if r.unlimited else "false", r.unit])
    atomic_write(path, buffer.getvalue().encode("utf-8"), mode=0o600)
    return len(points)


class _Exporter(QObject):
    """Runs a CSV export on a background thread; the count (or the reason it failed) comes back by signal."""

    done = Signal(object, str)  # int | str, the path

    def run(self, job: Callable[[], int], path: str) -> None:
        def work() -> None:
            try:
                outcome: int | str = job()
            except (HistoryError, OSError) as exc:
                outcome = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.done.emit(outcome, path)

        threading.Thread(target=work, name="credit-tray-export", daemon=True).start()


class _Loader(QObject):
    """Runs history reads on a background thread; results come back to the GUI thread by signal."""

    loaded = Signal(object)  # ChartData | str (an error)

    def run(self, job: Callable[[], ChartData]) -> None:
        def work() -> None:
            try:
                result: ChartData | str = job()
            except HistoryError as exc:
                result = self.tr("Can't read the history: {error}").format(error=exc)
            except Exception as exc:  # a bug costs the chart, never the tray
                log.exception("history read failed")
                result = self.tr("Can't read the history ({error})").format(error=type(exc).__name__)
            self.loaded.emit(result)

        threading.Thread(target=work, name="credit-tray-history", daemon=True).start()


class HistoryWindow(QWidget):
    """One account at a time (picker at the top), a range, the charts or a table, and CSV export."""

    loaded = Signal()  # the data for the current choice is shown (tests wait on it)
    exported = Signal()  # an export finished, written or not (its line is shown)

    def __init__(self, store: HistoryStore, config: Config, results: dict[str, AccountResult] | None = None,
                 *, account_id: str | None = None, min_span: timedelta = MIN_SPAN) -> None:
        super().__init__()
        self.store, self.config, self.min_span = store, config, min_span
        self.results = results or {}
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.picker = QComboBox()
        for account in config.accounts:
            if account.problem is None:
                self.picker.addItem(self._title(account.id), account.id)
        self.picker_label = QLabel()
        self.picker_label.setBuddy(self.picker)
        top.addWidget(self.picker_label)
        top.addWidget(self.picker, 1)
        self.ranges = QButtonGroup(self)
        for index in range(len(RANGES)):
            button = QToolButton()
            button.setCheckable(True)
            self.ranges.addButton(button, index)
            top.addWidget(button)
        self.ranges.button(1).setChecked(True)
        self.export_button = QPushButton()
        top.addWidget(self.export_button)
        layout.addLayout(top)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        charts = QWidget()
        chart_layout = QVBoxLayout(charts)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        self.balance_chart = BalanceChart()
        self.usage_bars = UsageBars()
        self.balance_title = QLabel()
        self.usage_title = QLabel()
        chart_layout.addWidget(self.balance_title)
        chart_layout.addWidget(self.balance_chart, 3)
        chart_layout.addWidget(self.usage_title)
        chart_layout.addWidget(self.usage_bars, 2)
        self.hover_line = QLabel(" ")
        self.hover_line.setTextFormat(Qt.TextFormat.PlainText)
        chart_layout.addWidget(self.hover_line)
        self.tabs.addTab(charts, "")
        self.table_model = BalanceTable()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.tabs.addTab(self.table, "")
        layout.addWidget(self.tabs, 1)
        self._loader = _Loader()
        self._loader.loaded.connect(self._show)
        self._exporter = _Exporter()
        self._exporter.done.connect(self._exported)
        self._request = 0
        # Writes the summary line in the current language (again after a language switch).
        self._summary: Callable[[], str] = lambda: ""
        self.retranslate()
        self.picker.currentIndexChanged.connect(lambda _: self.reload())
        self.ranges.idClicked.connect(lambda _: self.reload())
        self.export_button.clicked.connect(self.export_csv)
        for chart in (self.balance_chart, self.usage_bars):
            chart.hovered.connect(lambda text: self.hover_line.setText(text or " "))
        if account_id is not None:
            self.select(account_id)
        self.reload()

    def retranslate(self) -> None:
        """Every word, number and date again in the current language; the account, range, tab and table
        stay as they are."""
        self.setWindowTitle(self.tr("History — {app}").format(app=APP_NAME))
        self.picker.setAccessibleName(self.tr("Account"))
        self.picker_label.setText(self.tr("&Account:"))
        for index in range(self.picker.count()):
            self.picker.setItemText(index, self._title(str(self.picker.itemData(index))))
        for index, (label, _) in enumerate(RANGES):
            button = self.ranges.button(index)
            button.setText(self.tr(label))
            button.setAccessibleName(self.tr("Show {range}").format(range=self.tr(label)))
        self.export_button.setText(self.tr("E&xport CSV…"))
        self.balance_title.setText(self.tr("Balance"))
        self.usage_title.setText(self.tr("Used per day"))
        self.tabs.setTabText(0, self.tr("&Chart"))
        self.tabs.setTabText(1, self.tr("&Table"))
        for chart in (self.balance_chart, self.usage_bars):
            chart.update()  # its numbers and dates: the default QLocale, which apply_language has set by now
        self.hover_line.setText(" ")  # said in the old language; the next hover says it anew
        self.table_model.retranslate()
        self.summary.setText(self._summary())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _say(self, summary: Callable[[], str]) -> None:
        """The summary line, as a function of the language: a switch writes it again."""
        self._summary = summary
        self.summary.setText(summary())

    def _title(self, account_id: str) -> str:
        account = self.config.account(account_id)
        if account is None:
            return account_id
        name = texts.provider_name(account.provider_id)
        return name if account.label in ("", name) else f"{name} · {account.label}"

    def select(self, account_id: str) -> None:
        index = self.picker.findData(account_id)
        if index >= 0:
            self.picker.setCurrentIndex(index)

    def current_account(self) -> str | None:
        data = self.picker.currentData()
        return data if isinstance(data, str) else None

    def set_range(self, label: str) -> None:
        for index, (name, _) in enumerate(RANGES):
            if name == label:
                self.ranges.button(index).setChecked(True)
        self.reload()

    def reload(self) -> None:
        account_id = self.current_account()
        if account_id is None:
            self._say(lambda: self.tr("No accounts to show yet: add one in Settings."))
            self.balance_chart.set_data(None)
            self.usage_bars.set_data(None)
            self.export_button.setEnabled(False)
            return
        account = self.config.account(account_id)
        assert account is not None
        provider = account.provider
        span = RANGES[self.ranges.checkedId()][1]
        self._request += 1
        request = self._request
        store, thresholds, unit = self.store, account.thresholds, provider.unit if provider else "credits"
        min_span = self.min_span
        self._loader.run(lambda: replace(load_chart(store, account_id, span, thresholds, unit, min_span=min_span),
                                          request=request))

    def _show(self, data: ChartData | str) -> None:
        if isinstance(data, str):
            self._say(lambda: data)  # said by the loader, in the language of the moment
            self.loaded.emit()
            return
        if data.request != self._request:
            return  # an answer for an earlier choice of account or range
        self.balance_chart.set_data(data)
        self.usage_bars.set_data(data)
        self.export_button.setEnabled(bool(data.times))
        self._say(lambda: self._describe(data))
        self._fill_table(data)
        self.loaded.emit()

    def _describe(self, data: ChartData) -> str:
        """The pace and forecast (the engine's words), and the top-ups of the range."""
        result = AccountResult(account_id=data.account_id, provider_id="", label="", unit=data.unit,
                               state=AccountState.OK, reading=None, error=None, threshold=None,
                               checked_at=datetime.now(UTC), usage=data.usage)
        pace = texts.pace_line(result, datetime.now(UTC), lambda d: number(float(d)))
        #: the pace and forecast made a sentence, e.g. "Uses about 200 credits a day."
        summary = self.tr("{pace}.").format(pace=pace) if pace else self.tr("Not enough history yet for a burn rate.")
        if not data.top_ups:
            return summary
        #: two sentences one after the other (Chinese needs no space between them).
        return self.tr("{first} {second}").format(first=summary,
                                                   second=words_history.top_ups_in_range(len(data.top_ups)))

    def _fill_table(self, data: ChartData) -> None:
        self.table_model.set_rows(data.rows, data.unit)

    def export_csv(self, path: str | None = None) -> None:
        """Every reading of the range, exactly as recorded, written atomically (no half-written file)."""
        account_id = self.current_account()
        if account_id is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export history"), f"{account_id}-history.csv",
                                                  self.tr("CSV files (*.csv)"))
            if not path:
                return
        span = RANGES[self.ranges.checkedId()][1]
        since = datetime.now(UTC) - span if span is not None else None
        # Off the GUI thread: reading and formatting 30 days of exact readings takes a third of a second.
        store = self.store
        self._exporter.run(lambda: write_csv(store, account_id, since, Path(path)), path)

    def _exported(self, outcome: int | str, path: str) -> None:
        """The number of readings written, or why nothing was."""
        if isinstance(outcome, str):
            self._say(lambda: self.tr("Could not export to {path}: {reason}").format(path=path, reason=outcome))
        else:
            self._say(lambda: words_history.exported_readings(outcome, path))
        self.exported.emit()

    def closeEvent(self, event: object) -> None:
        with contextlib.suppress(RuntimeError):
            self.balance_chart.set_data(None)
            self.usage_bars.set_data(None)
            self.table_model.set_rows((), "")
        super().closeEvent(event)  # type: ignore[arg-type]
