//! Loss (紛失): the hotline's suspension at any hour, the window's loss
//! report, found (suspension lifted, held certificates replaced), reissue
//! with evidence and the fee, voluntary return.
