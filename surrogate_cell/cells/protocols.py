"""The Hay et al. (2011) validation protocols on a :class:`~surrogate_cell.cells.HayCell`.

Seven protocols: three somatic current steps, BAP, EPSP, CaBurst and BAC. They
run at fixed dt 0.025 ms, celsius 34 °C and v_init −80 mV, and are written with
the keys and sampling of the shared reference (``protocols.npz``):

``<protocol>/soma``, ``<protocol>/apic400``, ``<protocol>/apic620`` (float32, mV,
sample ``i`` at ``t = 0.1 i`` ms), ``<protocol>/spike_times`` (ms, upward
crossings of −10 mV at soma(0.5)), and ``BAP/all_segments``,
``BAC/all_segments`` (segments × samples, rows in segment-table order).
"""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._native import import_neuron_quietly
from ..errors import SurrogateCellError
from ..mechanisms import build_mechanisms
from .hay import HayCell
from .morphology import import_morphology
from .settings import RunSettings


@dataclass(frozen=True)
class Protocol:
    """One stimulation protocol. Currents in nA, times in ms."""

    name: str
    tstop_ms: float
    step_amp_nA: float = 0.0
    step_delay_ms: float = 0.0
    step_dur_ms: float = 0.0
    epsp_imax_nA: float = 0.0
    epsp_onset_ms: float = 300.0
    epsp_tau_rise_ms: float = 0.5
    epsp_tau_decay_ms: float = 5.0
    record_all_segments: bool = False


@dataclass(frozen=True)
class ProtocolSettings(RunSettings):
    """Settings of the protocols: :class:`~.settings.RunSettings` plus the recording step and the
    distances (µm from the soma) of the distal EPSP site and of the proximal recording site."""

    record_every_ms: float = 0.1
    epsp_site_um: float = 620.0
    proximal_site_um: float = 400.0


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("step_0.619", 3000.0, 0.619, 700.0, 2000.0),
    Protocol("step_0.793", 3000.0, 0.793, 700.0, 2000.0),
    Protocol("step_1.507", 3000.0, 1.507, 700.0, 2000.0),
    Protocol("BAP", 600.0, 1.9, 295.0, 5.0, record_all_segments=True),
    Protocol("EPSP", 600.0, epsp_imax_nA=0.5),
    Protocol("CaBurst", 600.0, epsp_imax_nA=1.5),
    Protocol("BAC", 600.0, 1.9, 295.0, 5.0, epsp_imax_nA=0.5, record_all_segments=True),
)}


def run_protocol(cell, protocol: Protocol, settings: ProtocolSettings = ProtocolSettings()) -> dict:
    """Run one protocol on ``cell`` and return its arrays (keys as in the module docstring)."""
    h = cell.h
    h.load_file("stdrun.hoc")
    soma = cell.soma[0]
    far_sec, far_x = cell.site("apic", settings.epsp_site_um)
    near_sec, near_x = cell.site("apic", settings.proximal_site_um)

    clamp = h.IClamp(soma(0.5))
    clamp.amp, clamp.delay, clamp.dur = protocol.step_amp_nA, protocol.step_delay_ms, protocol.step_dur_ms
    epsp = h.sc_epsp(far_sec(far_x))
    epsp.imax, epsp.onset = protocol.epsp_imax_nA, protocol.epsp_onset_ms
    epsp.tau0, epsp.tau1 = protocol.epsp_tau_rise_ms, protocol.epsp_tau_decay_ms

    every = settings.record_every_ms
    traces = {}
    for key, seg in (("soma", soma(0.5)), ("apic400", near_sec(near_x)), ("apic620", far_sec(far_x))):
        traces[key] = h.Vector()
        traces[key].record(seg._ref_v, every)
    all_vecs = []
    if protocol.record_all_segments:
        for sec in cell.all:
            for seg in sec:
                v = h.Vector()
                v.record(seg._ref_v, every)
                all_vecs.append(v)
    spikes = h.Vector()
    detector = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
    detector.threshold = settings.spike_threshold_mV
    detector.record(spikes)

    h.cvode_active(0)
    h.dt = settings.dt_ms
    h.steps_per_ms = 1.0 / settings.dt_ms
    h.celsius = settings.celsius_degC
    h.v_init = settings.v_init_mV
    h.tstop = protocol.tstop_ms
    h.finitialize(settings.v_init_mV)
    h.continuerun(protocol.tstop_ms)

    n = int(round(protocol.tstop_ms / every))
    out = {f"{protocol.name}/{k}": np.asarray(v.as_numpy()[:n], dtype=np.float32) for k, v in traces.items()}
    out[f"{protocol.name}/spike_times"] = np.asarray(spikes.as_numpy(), dtype=np.float64).copy()
    if all_vecs:
        out[f"{protocol.name}/all_segments"] = np.stack([np.asarray(v.as_numpy()[:n], dtype=np.float32)
                                                         for v in all_vecs])
    detector = None  # drop the NetCon before the recordings go
    return out


def _worker(morphology, names, settings):
    cell = HayCell(morphology)
    out = {}
    for name in names:
        out.update(run_protocol(cell, PROTOCOLS[name], settings))
    return out


def run_protocols(morphology: str | Path | None = None, names=None, *, workers: int = 1,
                  settings: ProtocolSettings = ProtocolSettings(), progress: bool = True) -> dict:
    """Run several protocols, each in a fresh NEURON process when ``workers > 1``.

    Parameters
    ----------
    morphology : str, Path or None
        Morphology file, or None for the synthetic default.
    names : list of str or None
        Protocol names (keys of ``PROTOCOLS``); all seven by default.
    workers : int
        Worker processes (spawned). ``1`` runs everything in this process.
    settings : ProtocolSettings
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    dict
        Arrays keyed as in the module docstring.
    """
    from tqdm import tqdm  # progress bars: only for long runs

    names = list(PROTOCOLS) if names is None else list(names)
    unknown = [n for n in names if n not in PROTOCOLS]
    if unknown:
        raise SurrogateCellError(f"unknown protocol(s) {unknown}; choose from {list(PROTOCOLS)}")
    if morphology is not None:
        # read it here first, so that a bad file gives one clear error, not a worker traceback

        import_morphology(morphology, import_neuron_quietly())
    out = {}
    if workers <= 1:
        cell = HayCell(morphology)
        bar = tqdm(total=len(names), desc="Hay protocols", unit="protocol", disable=not progress)
        for name in names:
            bar.set_postfix_str(name)
            out.update(run_protocol(cell, PROTOCOLS[name], settings))
            bar.update()
    else:
        build_mechanisms()  # compile once, before the workers start
        bar = tqdm(total=len(names), desc="Hay protocols", unit="protocol", disable=not progress)
        # longest first, so the pool stays busy
        order = sorted(names, key=lambda n: -PROTOCOLS[n].tstop_ms)
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_worker, morphology, [n], settings) for n in order]
            for fut in futures:
                out.update(fut.result())
                bar.update()
    bar.close()
    return {k: out[k] for n in names for k in sorted(out) if k.startswith(n + "/")}


def spike_times(traces: dict) -> dict:
    """``{protocol: [spike times in ms]}`` from a result of :func:`run_protocols`."""
    return {k.split("/")[0]: [float(t) for t in v] for k, v in traces.items() if k.endswith("/spike_times")}


