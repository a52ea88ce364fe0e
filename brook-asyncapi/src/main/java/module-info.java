/** AsyncAPI 3.0 documents (JSON, YAML, an HTML page) describing a Brook broker's subscriptions and publishers. */
module dev.brook.asyncapi {
  requires transitive dev.brook.core;
  requires com.fasterxml.jackson.dataformat.yaml;
  requires com.github.victools.jsonschema.generator;
  requires com.fasterxml.classmate;
  requires com.github.victools.jsonschema.module.jackson;
  requires static com.github.victools.jsonschema.module.jakarta.validation;
  requires static jakarta.validation;

  exports dev.brook.asyncapi;
  exports dev.brook.asyncapi.internal to dev.brook.cli;
}
