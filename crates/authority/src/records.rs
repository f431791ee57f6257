//! Reading the registry on someone's behalf: every access to a My Number or
//! a resident record is written to the disclosure log (who, whose, why).
