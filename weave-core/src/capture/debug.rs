//! Capturing a value through its `Debug` impl.
