"""Appeals (59-ФЗ) and the quality-of-care examinations ordered after them."""
