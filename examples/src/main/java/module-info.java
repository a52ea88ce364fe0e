/** The quick start and the code of the guide: a service as an application module would write it. */
module dev.brook.examples {
  requires dev.brook.redis;
  requires dev.brook.testing;
  requires jakarta.validation;

  // Payloads are decoded by Jackson, handlers called and validated by reflection.
  opens dev.brook.examples to com.fasterxml.jackson.databind, dev.brook.core, org.hibernate.validator;
  opens dev.brook.examples.guide to com.fasterxml.jackson.databind, dev.brook.core, org.hibernate.validator;
}
