COMMENT
sc_Surrogate: the NEURON face of one surrogate cell (no section, no integrator).

A surrogate cell's dynamics run in torch, batched over all surrogate cells of
the process by surrogate_cell.neuron's population runner. This mechanism only
moves events between NEURON and that runner:

Input   A NetCon event with weight vector (w, code) delivered at time t with
        flag 0 appends the record (cellid, code, w, t) to one buffer shared by
        every sc_Surrogate of the process. The runner empties the buffer once
        per 1 ms with drain() and bins the events by t. code = channel + 1;
        code 0 (a NetCon whose weight[1] was never set) is reported by the
        runner as an error.
Output  A self-event of flag 2 (NetCon(None, cell).event(te, 2), issued by the
        runner with te >= t) makes the cell emit its spike at te with
        net_event: it reaches every NetCon with this cell as source, its gid
        under MPI, and pc.spike_record.

The INITIAL block inside NET_RECEIVE keeps finitialize() from zeroing the
channel code in weight[1]. The buffer is not thread-safe: the runner refuses
to run with more than one NEURON thread.

Units: w (1; a multiple of the detailed synapse's reference conductance),
t (ms). Written for the surrogate_cell project.
ENDCOMMENT

NEURON {
    ARTIFICIAL_CELL sc_Surrogate
    RANGE cellid
}

PARAMETER {
    cellid = -1 (1)
}

VERBATIM
static double* sc_events = nullptr;   /* 4 doubles per event: cellid, code, w, t */
static long sc_n = 0;                 /* events held */
static long sc_cap = 0;               /* capacity, in events */
ENDVERBATIM

INITIAL {
VERBATIM
    sc_n = 0;  /* events from a previous run are stale */
ENDVERBATIM
}

NET_RECEIVE (w, code) {
    INITIAL { }
    if (flag == 0) {
        buffer_event(cellid, code, w, t)
    } else if (flag == 2) {
        net_event(t)
    }
}

PROCEDURE buffer_event(id, c, ww, tt) {
VERBATIM
    if (sc_n >= sc_cap) {
        long cap = sc_cap ? 2 * sc_cap : 4096;
        double* grown = (double*) realloc(sc_events, 4 * cap * sizeof(double));
        if (!grown) { hoc_execerror("sc_Surrogate: out of memory for the event buffer", 0); }
        sc_events = grown;
        sc_cap = cap;
    }
    double* e = sc_events + 4 * sc_n;
    e[0] = _lid; e[1] = _lc; e[2] = _lww; e[3] = _ltt;
    ++sc_n;
ENDVERBATIM
}

FUNCTION drain() {
VERBATIM
    /* drain(vec): copy the buffered events into vec (4 values per event), empty
       the buffer and return the number of events. vec is grown when it is too
       small, never shrunk. */
    IvocVect* vec = vector_arg(1);
    if (vector_capacity(vec) < 4 * sc_n) { vector_resize(vec, (int) (4 * sc_n)); }
    double* out = vector_vec(vec);
    for (long i = 0; i < 4 * sc_n; ++i) { out[i] = sc_events[i]; }
    _ldrain = (double) sc_n;
    sc_n = 0;
ENDVERBATIM
}

FUNCTION pending() {
VERBATIM
    _lpending = (double) sc_n;  /* events buffered now */
ENDVERBATIM
}
