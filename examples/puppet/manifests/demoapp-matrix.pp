# One combination of the demo-matrix template's axes: SmokeStack sets the facts smokestack_greeting
# and smokestack_port (from FACTER_ variables) for the job's combination.
class { 'demoapp':
  greeting => $facts['smokestack_greeting'],
  port     => Integer($facts['smokestack_port']),
}
