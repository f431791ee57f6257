//! The window's card services: PIN reset (初期化), face-recognition
//! conversion and back, certificate renewal on the same card.
