<?php
$config = require __DIR__ . '/config/app.php';
echo "Hello from build v1 (", basename(__DIR__), ") — ", $config['name'], "\n";
