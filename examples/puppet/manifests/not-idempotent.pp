# A common Puppet mistake: an exec without `creates`, `onlyif`, `unless` or `refreshonly` runs, and
# reports a change, on every apply. SmokeStack's second apply must catch it and name the resource.
file { '/var/tmp/demoapp-cache':
  ensure => directory,
}

exec { 'regenerate-demoapp-cache':
  command => '/bin/true',
  path    => ['/usr/bin', '/bin'],
  require => File['/var/tmp/demoapp-cache'],
}
