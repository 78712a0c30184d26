"""`Progbar`: the progress line printed during fit, evaluate and predict, byte for byte as Keras 3."""
import math
import os
import sys
import time

import numpy as np

BOLD = "1"
GREEN = "32"
WHITE = "37"


def print_msg(message, line_break=True):
    """Write `message` to stdout and flush, as Keras's interactive logging does.

    A stdout that cannot encode the bar character gets Keras 2's `=` instead.
    """
    message = f"{message}\n" if line_break else str(message)
    try:
        sys.stdout.write(message)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        message = message.replace("━", "=").encode(encoding, errors="ignore").decode(encoding)
        sys.stdout.write(message)
    sys.stdout.flush()


def styled(text, sgr_code):
    """`text` wrapped in an ANSI SGR code and a reset."""
    return f"\x1b[{sgr_code}m{text}\x1b[0m"


def format_time_per_unit(seconds, unit_name):
    """' 7ms/step': whole seconds from 1 s up (and for zero), else ms, else us."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_eta(seconds):
    """'1:02:03' above an hour, '2:03' above a minute, else '42s' (all truncated)."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (int(seconds // 3600), int((seconds % 3600) // 60), int(seconds % 60))
    if seconds > 60:
        return "%d:%02d" % (int(seconds // 60), int(seconds % 60))
    return "%ds" % int(seconds)


def stdout_is_dynamic():
    """Keras redraws the bar in place on a TTY, in Jupyter, under PyCharm and on every POSIX system."""
    return (
        (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
        or "ipykernel" in sys.modules
        or "posix" in sys.modules
        or "PYCHARM_HOSTED" in os.environ
    )


class Progbar:
    """A progress bar over `target` steps (None when unknown).

    A stateless value is shown as its running mean weighted by the steps it covered:
    mean = sum_i v_i * (current_i - current_{i-1}) / sum_i (current_i - current_{i-1});
    a stateful value is shown as the last value given. Time per step excludes the first step:
    (now - t_after_step_1) / (current - 1), or (now - start) / current before that.
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be provided. "
                "`stateful_metrics` is used to make metrics stateless by default (with an "
                "exclusion list), while `stateless_metrics` is used to make metrics stateful "
                "by default (with an exclusion list)."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = None if stateless_metrics is not None else set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self._dynamic_display = stdout_is_dynamic()
        self._seen_so_far = 0
        self._values = {}  # name -> [weighted sum, weight]; insertion order is display order
        self._start = time.time()
        self._last_update = 0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def update(self, current, values=None, finalize=None):
        """Record `values` (a list of (name, value) pairs) at step `current` and redraw.

        `finalize` defaults to `current >= target`; the final update ends the line.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if self._is_stateless(name) and not finalize:
                steps_covered = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] += value * steps_covered
                    self._values[name][1] += steps_covered
                else:
                    self._values[name] = [value * steps_covered, steps_covered]
            else:
                # A finalizing update carries epoch-level values, which replace the running means.
                self._values[name] = [value, 1]
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._print_dynamic_line(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self._has_target():
            self._print_final_line(current, now, time_per_unit)
        self._last_update = now

    def add(self, n, values=None):
        """Advance by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _is_stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _has_target(self):
        return self.target is not None and self.target > 0

    def _counter(self, current):
        digits = int(math.log10(self.target)) + 1
        return f"%{digits}d/%d" % (current, self.target)

    def _means(self):
        for name, (total, weight) in self._values.items():
            if not isinstance(total, float):
                total = np.mean(total)
            yield name, total / max(1, weight)

    def _print_dynamic_line(self, current, now, time_per_unit, finalize):
        """One redraw: erase the previous line, then counter, bar, time, time per step, values."""
        parts = []  # (text, sgr code or None); the visible width ignores the codes
        if self._has_target():
            filled = int(self.width * float(current) / self.target)
            parts.append((self._counter(current), BOLD))
            parts.append((" ", None))
            if filled > 0:
                parts.append(("━" * filled, GREEN))
            parts.append(("━" * (self.width - filled), WHITE))
        else:
            parts.append(("%7d/Unknown" % current, None))
        parts.append((" ", None))
        if self._has_target() and not finalize:
            parts.append((format_eta(time_per_unit * (self.target - current)), BOLD))
        else:
            parts.append((f"{now - self._start:.0f}s", BOLD))
        parts.append((format_time_per_unit(time_per_unit, self.unit_name), None))
        for name, mean in self._means():
            parts.append((f" - {name}: {mean:.4f}" if abs(mean) > 1e-3 else f" - {name}: {mean:.4e}", None))

        total_width = sum(len(text) for text, _ in parts)
        line = "".join(text if code is None else styled(text, code) for text, code in parts)
        erase = "\b" * self._prev_total_width + "\r" if self._dynamic_display else "\n"
        padding = " " * max(self._prev_total_width - total_width, 0)
        print_msg(erase + line + padding + ("\n" if finalize else ""), line_break=False)
        self._prev_total_width = total_width

    def _print_final_line(self, current, now, time_per_unit):
        """verbose=2: '4/4 - 0s - 7ms/step - loss: 2.2266', printed once at the end."""
        line = f"{self._counter(current)} - {now - self._start:.0f}s -"
        line += format_time_per_unit(time_per_unit, self.unit_name)
        for name, mean in self._means():
            # Keras tests the signed value here, so negative values print in scientific notation.
            line += f" - {name}: {mean:.4f}" if mean > 1e-3 else f" - {name}: {mean:.4e}"
        print_msg(line + "\n", line_break=False)

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the (slow, compiling) first step once there are others."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
