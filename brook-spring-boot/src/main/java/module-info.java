/**
 * Brook's Spring Boot auto-configuration ({@code dev.brook.spring.boot.autoconfigure}) and test
 * support ({@code dev.brook.spring.boot.test}). Spring Boot applications run on the class path; as
 * a module, this one opens its packages to Spring, which creates its configuration classes and
 * binds {@code BrookProperties} by reflection. Everything but brook-redis and Spring Boot's core is
 * optional: each part switches on when the application has its classes.
 */
module dev.brook.spring.boot {
  requires transitive dev.brook.redis;
  requires transitive spring.boot;
  requires transitive spring.boot.autoconfigure;
  requires transitive spring.context;
  requires spring.beans;
  requires spring.core;
  requires spring.aop;
  requires org.slf4j;

  requires static dev.brook.micrometer;
  requires static dev.brook.asyncapi;
  requires static dev.brook.console;
  requires static jakarta.servlet;
  requires static dev.brook.testing;
  requires static spring.boot.health;
  requires static spring.webmvc;
  requires static spring.web;
  requires static jakarta.validation;
  requires static micrometer.core;
  requires static micrometer.observation;

  exports dev.brook.spring.boot.autoconfigure;
  exports dev.brook.spring.boot.test;

  opens dev.brook.spring.boot.autoconfigure to spring.core, spring.beans, spring.context, spring.boot;
  opens dev.brook.spring.boot.test to spring.core, spring.beans, spring.context, spring.boot;
}
